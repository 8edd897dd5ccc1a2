// Dynamic presentations built on the phone (common.md, "Presentation text"):
//   ADP1: + base45( credential_len u16 BE ‖ credential bytes ‖ counter u32 BE ‖ device signature 64 B )
// where the device signature covers device_proof_message(ticket_id, ticket_version, counter):
//   ASCII "ADMIT-DEVICE-PROOF-1" ‖ ticket_id u64 BE ‖ ticket_version u32 BE ‖ counter u32 BE.
// Base45 (RFC 9285) uses only QR alphanumeric characters, so the QR stays dense.

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const CONTEXT = new TextEncoder().encode('ADMIT-DEVICE-PROOF-1');

export const CREDENTIAL_PREFIX = 'ADM1:';
export const PRESENTATION_PREFIX = 'ADP1:';

export function base45Encode(bytes) {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = bytes[i] * 256 + bytes[i + 1];
    const c = n % 45; n = (n - c) / 45;
    const d = n % 45; const e = (n - d) / 45;
    out += ALPHABET[c] + ALPHABET[d] + ALPHABET[e];
  }
  if (bytes.length % 2 === 1) {
    const n = bytes[bytes.length - 1];
    out += ALPHABET[n % 45] + ALPHABET[Math.floor(n / 45)];
  }
  return out;
}

export function base45Decode(text) {
  const values = Array.from(text, (ch) => {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new Error('not base45');
    return v;
  });
  if (values.length % 3 === 1) throw new Error('not base45');
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    if (i + 2 < values.length) {
      const n = values[i] + values[i + 1] * 45 + values[i + 2] * 2025;
      if (n > 0xffff) throw new Error('not base45');
      out.push(n >> 8, n & 0xff);
    } else {
      const n = values[i] + values[i + 1] * 45;
      if (n > 0xff) throw new Error('not base45');
      out.push(n);
    }
  }
  return new Uint8Array(out);
}

/** The signed credential's bytes from its `ADM1:` text. */
export function credentialBytes(text) {
  if (!text.startsWith(CREDENTIAL_PREFIX)) throw new Error('not an Admit credential');
  return base45Decode(text.slice(CREDENTIAL_PREFIX.length));
}

/** What the device signs. `ticketId` is the decimal string the API gives (63-bit). */
export function proofMessage(ticketId, version, counter) {
  const message = new Uint8Array(CONTEXT.length + 16);
  message.set(CONTEXT, 0);
  const view = new DataView(message.buffer);
  view.setBigUint64(CONTEXT.length, BigInt(ticketId));
  view.setUint32(CONTEXT.length + 8, version);
  view.setUint32(CONTEXT.length + 12, counter);
  return message;
}

/**
 * The `ADP1:` text for a credential, signed now by `sign(message) -> Promise<Uint8Array(64)>`.
 * `counter` is the (skew-corrected) unix time in whole seconds.
 */
export async function present(credentialText, ticketId, version, counter, sign) {
  const credential = credentialBytes(credentialText);
  const signature = await sign(proofMessage(ticketId, version, counter));
  if (signature.length !== 64) throw new Error('a device signature is 64 bytes');
  const bytes = new Uint8Array(2 + credential.length + 4 + 64);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, credential.length);
  bytes.set(credential, 2);
  view.setUint32(2 + credential.length, counter);
  bytes.set(signature, 2 + credential.length + 4);
  return PRESENTATION_PREFIX + base45Encode(bytes);
}

export function base64url(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
