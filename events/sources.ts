/** EventBridge `source` values of Touchloop's own domain events. */
export const Sources = {
  contacts: 'touchloop.contacts',
} as const;
