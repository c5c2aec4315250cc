// Azure ML workspace with GPU compute clusters that scale to zero between training jobs, the
// training environment and the datastore over the app's `training-jobs` container (the Blob
// hand-off: shared/compute/handoff.py). No keys anywhere: clusters have managed identities and
// the datastore is identity-based; their roles are in rbac.bicep.
param location string
param tags object
param workspaceName string
param keyVaultName string
param storageAccountId string
param storageAccountName string
param appInsightsId string
param gpuVmSize string
param gpuMaxNodes int

@description('Name of the training environment; the spec default is azureml:<name>:<version>.')
param environmentName string = 'mlops-train'
param environmentVersion string = '1'

@description('Base image of the training environment (CUDA, for torch on GPU nodes).')
param environmentImage string = 'mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04:latest'

// Must equal shared.compute.handoff.APP_DATASTORE and CONTAINER.
var datastoreName = 'mlops_training_jobs'
var trainingContainer = 'training-jobs'

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

// Dedicated nodes (compute.low_priority: false).
resource gpuCluster 'Microsoft.MachineLearningServices/workspaces/computes@2024-10-01' = {
  parent: workspace
  name: 'gpu-cluster'
  location: location
  identity: { type: 'SystemAssigned' }
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

// Low-priority nodes (compute.low_priority: true): cheaper, may be preempted; the app resubmits
// a preempted job and it resumes from its Blob checkpoints.
resource gpuLowPriorityCluster 'Microsoft.MachineLearningServices/workspaces/computes@2024-10-01' = {
  parent: workspace
  name: 'gpu-cluster-lowpri'
  location: location
  identity: { type: 'SystemAssigned' }
  properties: {
    computeType: 'AmlCompute'
    properties: {
      vmSize: gpuVmSize
      vmPriority: 'LowPriority'
      scaleSettings: {
        minNodeCount: 0
        maxNodeCount: gpuMaxNodes
        nodeIdleTimeBeforeScaleDown: 'PT5M'
      }
    }
  }
}

// Identity-based datastore over the app's training-jobs container: jobs mount their inputs,
// outputs and checkpoints from it with the compute's managed identity (the job sets identity
// Managed), never with a key.
resource trainingDatastore 'Microsoft.MachineLearningServices/workspaces/datastores@2024-10-01' = {
  parent: workspace
  name: datastoreName
  properties: {
    datastoreType: 'AzureBlob'
    accountName: storageAccountName
    containerName: trainingContainer
    endpoint: environment().suffixes.storage
    protocol: 'https'
    credentials: { credentialsType: 'None' }
    serviceDataAccessAuthIdentity: 'WorkspaceSystemAssignedIdentity'
  }
}

resource trainingEnvironment 'Microsoft.MachineLearningServices/workspaces/environments@2024-10-01' = {
  parent: workspace
  name: environmentName
  properties: {
    description: 'Dependencies of python -m shared.training.job (torch included); the code comes from Blob.'
  }
}

resource trainingEnvironmentVersion 'Microsoft.MachineLearningServices/workspaces/environments/versions@2024-10-01' = {
  parent: trainingEnvironment
  name: environmentVersion
  properties: {
    image: environmentImage
    condaFile: loadTextContent('../training-environment.yml')
    osType: 'Linux'
  }
}

// The workspace's events, for the training-events queue: the subscription itself is in
// events.bicep, created after rbac.bicep gives this topic's identity its queue role.
resource workspaceEvents 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: '${workspaceName}-events'
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    source: workspace.id
    topicType: 'Microsoft.MachineLearningServices.Workspaces'
  }
}

output workspaceName string = workspace.name
output eventsTopicName string = workspaceEvents.name
output eventsPrincipalId string = workspaceEvents.identity.principalId
output workspacePrincipalId string = workspace.identity.principalId
output computeName string = gpuCluster.name
output lowPriorityComputeName string = gpuLowPriorityCluster.name
output clusterPrincipalIds array = [
  gpuCluster.identity.principalId
  gpuLowPriorityCluster.identity.principalId
]
output datastoreName string = trainingDatastore.name
output environment string = 'azureml:${environmentName}:${trainingEnvironmentVersion.name}'
