/** Every domain event (API.md §6); published on `<USERS_ES_SUBJECT_PREFIX>.<operation>`. */
export const EVENT_OPERATIONS = [
  'user.create',
  'user.update',
  'user.update_email',
  'user.update_username',
  'user.update_picture',
  'user.update_tags',
  'user.update_role',
  'user.update_secret',
  'user.enable',
  'user.disable',
  'user.delete',
  'user.purge',
  'user.verify_email',
  'user.send_verification',
  'user.issue_token',
  'user.refresh_token',
  'user.revoke_token',
  'user.logout',
  'user.send_password_reset',
  'user.reset_secret',
  'user.invite',
  'user.oauth_login',
] as const;

export type EventOperation = (typeof EVENT_OPERATIONS)[number];
