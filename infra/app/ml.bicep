// Azure ML workspace with a GPU compute cluster that scales to zero between training jobs.
param location string
param tags object
param workspaceName string
param keyVaultName string
param storageAccountId string
param appInsightsId string
param gpuVmSize string
param gpuMaxNodes int

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
  }
}

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-10-01' = {
  name: workspaceName
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    friendlyName: workspaceName
    storageAccount: storageAccountId
    keyVault: vault.id
    applicationInsights: appInsightsId
    publicNetworkAccess: 'Enabled'
    // The storage account has shared keys disabled: system datastores use the workspace identity.
    systemDatastoresAuthMode: 'identity'
  }
}

resource gpuCluster 'Microsoft.MachineLearningServices/workspaces/computes@2024-10-01' = {
  parent: workspace
  name: 'gpu-cluster'
  location: location
  properties: {
    computeType: 'AmlCompute'
    properties: {
      vmSize: gpuVmSize
      vmPriority: 'Dedicated'
      scaleSettings: {
        minNodeCount: 0
        maxNodeCount: gpuMaxNodes
        nodeIdleTimeBeforeScaleDown: 'PT5M'
      }
    }
  }
}

output workspaceName string = workspace.name
output computeName string = gpuCluster.name
