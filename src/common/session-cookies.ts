/** The cookies of a browser session (an OAuth sign-in hands the session to the UI this way). */
export const ACCESS_COOKIE = 'access_token';
export const REFRESH_COOKIE = 'refresh_token';
