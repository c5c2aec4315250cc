// Azure ML job ends -> the app's training-events queue, so a run's training sub-orchestration
// wakes when its job ends instead of at its next poll (shared/compute/events.py). Deployed after
// rbac.bicep: Event Grid checks the topic identity's queue role when the subscription is created.
param topicName string
param storageAccountId string

// Must equal shared.compute.events.QUEUE, AML_STATUS_EVENT and the keys of AML_FINAL.
var queueName = 'training-events'
var statusEvent = 'Microsoft.MachineLearningServices.RunStatusChanged'
var finalStatuses = ['Completed', 'Failed', 'Canceled', 'NotResponding']

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: topicName
}

resource jobEnds 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'training-job-ends'
  properties: {
    deliveryWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storageAccountId
          queueName: queueName
          queueMessageTimeToLiveInSeconds: 86400
        }
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [statusEvent]
      advancedFilters: [
        { operatorType: 'StringIn', key: 'data.runStatus', values: finalStatuses }
      ]
    }
    retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 }
  }
}
