import { existsSync, readFileSync } from 'node:fs';

/** `0100007F` (IPv4, little-endian) or a 32-digit IPv6 word string from /proc/net/tcp6, as text. */
function decodeAddress(hex: string): string {
  if (hex.length === 8) return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  // IPv6 in four little-endian 32-bit words; an IPv4-mapped address (::ffff:a.b.c.d) is reported as a.b.c.d.
  const bytes = [0, 1, 2, 3].flatMap((w) => [3, 2, 1, 0].map((i) => parseInt(hex.slice(w * 8 + i * 2, w * 8 + i * 2 + 2), 16)));
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  if (bytes.every((b) => b === 0)) return '::';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** Whether the OS socket table can be read here (Linux). */
export const canReadSocketTable = (): boolean => existsSync('/proc/net/tcp');

/**
 * The local addresses the OS has listening sockets on for a TCP port, read from /proc/net/tcp and
 * tcp6: what any process on the machine (not the server's own report) would see. `0.0.0.0` or `::`
 * means every interface.
 */
export function listeningAddresses(port: number): string[] {
  const addresses: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || fields[3] !== '0A') continue; // 0A = LISTEN
      const [address, portHex] = fields[1]!.split(':') as [string, string];
      if (parseInt(portHex, 16) === port) addresses.push(decodeAddress(address));
    }
  }
  return addresses;
}
