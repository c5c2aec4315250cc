// Subscription-scope entry point for azd: resource group + everything the app needs.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; used to derive resource names.')
param environmentName string

@minLength(1)
@description('Primary location for all resources.')
param location string

@description('Object id of the deploying user, granted data access for local tooling (optional).')
param principalId string = ''

@description('VM size of the Azure ML GPU training cluster (scales to zero).')
param gpuVmSize string = 'Standard_NC4as_T4_v3'

@description('Maximum nodes of the GPU training cluster.')
param gpuMaxNodes int = 2

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: '${abbrs.resourceGroup}${environmentName}'
  location: location
  tags: tags
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: '${abbrs.logAnalytics}${resourceToken}'
    appInsightsName: '${abbrs.appInsights}${resourceToken}'
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.storageAccount}${resourceToken}'
  }
}

module ml './app/ml.bicep' = {
  name: 'ml'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceName: '${abbrs.machineLearningWorkspace}${resourceToken}'
    keyVaultName: '${abbrs.keyVault}${resourceToken}'
    storageAccountId: storage.outputs.id
    storageAccountName: storage.outputs.name
    appInsightsId: monitoring.outputs.appInsightsId
    gpuVmSize: gpuVmSize
    gpuMaxNodes: gpuMaxNodes
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    name: '${abbrs.functionApp}${resourceToken}'
    planName: '${abbrs.appServicePlan}${resourceToken}'
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: '${storage.outputs.blobEndpoint}deploymentpackage'
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    azureMlSubscriptionId: subscription().subscriptionId
    azureMlResourceGroup: rg.name
    azureMlWorkspace: ml.outputs.workspaceName
    azureMlCompute: ml.outputs.computeName
  }
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    workspaceName: ml.outputs.workspaceName
    appInsightsName: monitoring.outputs.appInsightsName
    appPrincipalId: api.outputs.principalId
    workspacePrincipalId: ml.outputs.workspacePrincipalId
    clusterPrincipalIds: ml.outputs.clusterPrincipalIds
    eventsPrincipalId: ml.outputs.eventsPrincipalId
    userPrincipalId: principalId
  }
}

module events './app/events.bicep' = {
  name: 'events'
  scope: rg
  dependsOn: [rbac]
  params: {
    topicName: ml.outputs.eventsTopicName
    storageAccountId: storage.outputs.id
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_FUNCTION_URL string = api.outputs.url
output AZURE_STORAGE_ACCOUNT string = storage.outputs.name
output AZURE_ML_WORKSPACE string = ml.outputs.workspaceName
// What a spec's `compute: {kind: azureml}` section names (README "Azure ML training").
output AZURE_ML_COMPUTE string = ml.outputs.computeName
output AZURE_ML_LOW_PRIORITY_COMPUTE string = ml.outputs.lowPriorityComputeName
output AZURE_ML_ENVIRONMENT string = ml.outputs.environment
output AZURE_ML_DATASTORE string = ml.outputs.datastoreName
output AZURE_ML_GPU_VM_SIZE string = gpuVmSize
output AZURE_STORAGE_DATA_CONTAINER string = 'data'
