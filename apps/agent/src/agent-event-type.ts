/** The agent's monitor events: numbers of flow.AgentEventType, as Hubble reads them. */
export const AgentEvent = { started: 2, policyUpdated: 3, policyDeleted: 4, regenSuccess: 5, regenFailure: 6, endpointCreated: 7, endpointDeleted: 8, ipcacheUpserted: 9, ipcacheDeleted: 10 } as const;
