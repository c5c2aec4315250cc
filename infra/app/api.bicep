// Flex Consumption Function App (Python 3.11) with a system identity and identity-based storage.
param location string
param tags object
param name string
param planName string
param storageAccountName string
param deploymentContainerUrl string
param appInsightsConnectionString string
param azureMlSubscriptionId string
param azureMlResourceGroup string
param azureMlWorkspace string
param azureMlCompute string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: 100, instanceMemoryMB: 2048 }
      runtime: { name: 'python', version: '3.11' }
    }
    siteConfig: {
      appSettings: [
        { name: 'AzureWebJobsStorage__blobServiceUri', value: storage.properties.primaryEndpoints.blob }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: storage.properties.primaryEndpoints.queue }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: storage.properties.primaryEndpoints.table }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
        { name: 'MLOPS_AZUREML_SUBSCRIPTION_ID', value: azureMlSubscriptionId }
        { name: 'MLOPS_AZUREML_RESOURCE_GROUP', value: azureMlResourceGroup }
        { name: 'MLOPS_AZUREML_WORKSPACE', value: azureMlWorkspace }
        { name: 'MLOPS_AZUREML_COMPUTE', value: azureMlCompute }
        // Data sources: no local folders on Azure; blob sources only in the 'data' container.
        { name: 'MLOPS_DATA_ROOTS', value: '' }
        { name: 'MLOPS_DATA_CONTAINERS', value: 'data' }
      ]
    }
  }
}

output name string = app.name
output principalId string = app.identity.principalId
output url string = 'https://${app.properties.defaultHostName}'
