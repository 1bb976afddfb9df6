export { createTlsManager, type TlsManager, type TlsManagerOptions, type SecureContextTarget } from './manager.js';
export { loadKeyPair, summarize, TlsFileError, type KeyPair, type MinTlsVersion } from './keypair.js';
export { selfSignedPaths } from './selfsigned.js';
