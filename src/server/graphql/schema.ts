/** Imports every type file and builds the schema; defines no types itself. */
import { builder } from './builder.js';
import './types/log.js';
import './types/attestation.js';
import './types/participant.js';
import './types/device.js';
import './types/live.js';

export const schema = builder.toSchema({ sortSchema: false });
