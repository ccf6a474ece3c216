// Tamper evidence: each audit record's link covers the previous record's link, its position and
// its JSON text, so editing, inserting or removing a record breaks every link after it.
// Links are HMAC-SHA256 under a chain key derived from the audit key, which is never stored in
// the database: someone who can write the database but lacks the key cannot make links that
// verify. Keyed links are written "v2:<hex>". Chains from earlier releases are unkeyed (plain
// SHA-256, "<hex>"): they verify, but anyone able to write the database could have made them.
// Keys are KeyObjects, made once: Node 24 spends about 17 µs checking a Buffer key on every HMAC.
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto'

const KEYED = 'v2:'

/** The key chains are linked with, derived from the audit key (apart from the values' HMACs). */
export function chainKeyFrom (auditKey: Buffer): KeyObject {
  return createSecretKey(createHmac('sha256', auditKey).update('codeocean-proxy audit chain key').digest())
}

/** Whether a stored link was made with a chain key. */
export function isKeyed (link: string): boolean {
  return link.startsWith(KEYED)
}

function digest (key: KeyObject | undefined, text: string): string {
  return key === undefined
    ? createHash('sha256').update(text).digest('hex')
    : KEYED + createHmac('sha256', key).update(text).digest('hex')
}

/** The link that a chain's first record points back to; unkeyed without a key. */
export function chainAnchor (instanceId: string, key?: KeyObject): string {
  return digest(key, `codeocean-proxy audit chain ${instanceId}`)
}

/** A record's link: its predecessor's, its position and its content; unkeyed without a key. */
export function linkHash (prevHash: string, seq: number, body: string, key?: KeyObject): string {
  return digest(key, `${prevHash}\n${seq}\n${body}`)
}

/** A chain head as the proxy vouches for it in its log stream: found missing later, it shows truncation. */
export interface Checkpoint {
  instanceId: string
  seq: number
  hash: string
  mac: string
}

export function checkpointMac (key: KeyObject, instanceId: string, seq: number, hash: string): string {
  return createHmac('sha256', key).update(`codeocean-proxy audit checkpoint\n${instanceId}\n${seq}\n${hash}`).digest('hex')
}
