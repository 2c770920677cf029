/** The browser the webview and end-to-end tests drive: Debian's chromium (or GROWTH_LAB_CHROMIUM), with one set of flags. */
export const CHROMIUM = process.env.GROWTH_LAB_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
