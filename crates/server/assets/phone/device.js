// This browser's device key. Made once with WebCrypto — Ed25519, or ECDSA P-256 where the
// browser has no Ed25519 — as a NON-extractable private key (it can sign but never be read
// out, so a copied page or file has no key), kept in IndexedDB. The raw public key is what
// the server binds the ticket to.

const DB = 'admit-phone';
const STORE = 'keys';
const ID = 'device';
// P-256's group order n: a P1363 signature's s is folded to the low half (s <= n/2), the one
// form the gate accepts (a high s is the malleated twin of the same signature).
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function database() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function transact(mode, work) {
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

async function generate() {
  // A tester (or a phone with a broken Ed25519) can ask for P-256 explicitly.
  const preferred = localStorage.getItem('admit.deviceAlgorithm');
  if (preferred !== 'P-256') {
    try {
      const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
      return { algorithm: 'Ed25519', privateKey: pair.privateKey, publicRaw: await raw(pair.publicKey) };
    } catch (e) {
      // No Ed25519 in this browser: fall back to P-256.
    }
  }
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  return { algorithm: 'P-256', privateKey: pair.privateKey, publicRaw: await raw(pair.publicKey) };
}

async function raw(publicKey) {
  return new Uint8Array(await crypto.subtle.exportKey('raw', publicKey));
}

/** The device key, made on first use. Throws when the browser has no WebCrypto. */
export async function deviceKey() {
  if (!globalThis.crypto?.subtle || !globalThis.indexedDB) throw new Error('this browser cannot keep a device key');
  const stored = await transact('readonly', (s) => s.get(ID));
  if (stored) return stored;
  const made = await generate();
  await transact('readwrite', (s) => s.add(made, ID)).catch(() => null);
  // Another tab may have made one at the same moment: everyone uses the stored one.
  return (await transact('readonly', (s) => s.get(ID))) ?? made;
}

function lowS(signature) {
  let s = 0n;
  for (const b of signature.slice(32)) s = (s << 8n) | BigInt(b);
  if (s <= P256_N >> 1n) return signature;
  s = P256_N - s;
  const out = new Uint8Array(signature);
  for (let i = 63; i >= 32; i--) { out[i] = Number(s & 0xffn); s >>= 8n; }
  return out;
}

/** The device's 64-byte signature over `message` (Ed25519, or P-256 ECDSA-SHA-256 as r‖s). */
export async function sign(key, message) {
  if (key.algorithm === 'Ed25519') {
    return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, message));
  }
  // WebCrypto already answers in IEEE P1363 form (r‖s, 32 bytes each), not DER.
  const rs = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, message);
  return lowS(new Uint8Array(rs));
}

/** Whether the ticket's bound key (`{algorithm, public_key}` from the API) is this device's. */
export function isMine(key, bound, base64url) {
  return !!bound && bound.algorithm === key.algorithm && bound.public_key === base64url(key.publicRaw);
}
