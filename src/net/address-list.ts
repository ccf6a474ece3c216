// Lists of IP addresses and CIDR ranges, as configuration writes them (`10.0.0.0/8,::1`): parsed
// here, below both the configuration that validates them and the identity code that uses them.
import { BlockList, isIPv4, isIPv6 } from 'node:net'

/** Parses `10.0.0.0/8`, `::1`, `fd00::/8`…; throws with the entry named when one is not. */
export function addressList (entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/')
    const type = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined
    const bits = prefix === undefined ? undefined : /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN
    if (type === undefined || rest.length > 0 || Number.isNaN(bits) || (bits ?? 0) > (type === 'ipv4' ? 32 : 128)) {
      throw new TypeError(`${JSON.stringify(entry)} is not an IP address or CIDR range`)
    }
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, bits, type)
  }
  return list
}
