// Code Ocean's answer to a run, kept for replay under its Idempotency-Key, holds the run's
// parameters in clear. It is stored sealed: AES-256-GCM under a key derived from the audit key
// (never stored with it), bound to its caller and key, so the database alone reveals nothing and
// an answer cannot be moved to another caller's key. Answers stored before sealing read as they are.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto'

const SEALED = 'sealed-v1:'
const IV_BYTES = 12
const TAG_BYTES = 16

/** The key answers are sealed with, derived from the audit key (a KeyObject: Node 24 checks a Buffer key slowly on every use). */
export function answerKeyFrom (auditKey: Buffer): KeyObject {
  return createSecretKey(createHmac('sha256', auditKey).update('codeocean-proxy idempotency answers').digest())
}

function boundTo (subject: string, key: string): Buffer {
  return Buffer.from(`${subject}\n${key}`, 'utf8')
}

export function sealAnswer (answerKey: KeyObject, subject: string, key: string, body: string): string {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', answerKey, iv).setAAD(boundTo(subject, key))
  const sealed = Buffer.concat([cipher.update(body, 'utf8'), cipher.final()])
  return SEALED + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64')
}

/** The answer as Code Ocean sent it; undefined when it cannot be opened (another key, edited, moved). */
export function openAnswer (answerKey: KeyObject, subject: string, key: string, stored: string): string | undefined {
  if (!stored.startsWith(SEALED)) return stored
  const bytes = Buffer.from(stored.slice(SEALED.length), 'base64')
  try {
    const decipher = createDecipheriv('aes-256-gcm', answerKey, bytes.subarray(0, IV_BYTES)).setAAD(boundTo(subject, key))
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
  } catch {
    return undefined
  }
}
