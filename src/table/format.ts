// Mirror of native/table/format.h (the layout's documentation lives there).
// test/table-format.test.ts checks every constant against native describeFormat().

export interface Field {
  off: number;
  len: number;
}

export const MAGIC = 0x54464753; // "SGFT"
/** MAGIC as the text a table file starts with (little-endian bytes "SGFT"). */
export const MAGIC_TEXT = 'SGFT';
export const VERSION_MAJOR = 1;
export const CLOUD_CODES = { aws: 0, 'aws-classic': 1, alibaba: 2 } as const;

export const HEADER = {
  magic: { off: 0, len: 4 },
  version: { off: 4, len: 2 },
  headerLen: { off: 6, len: 2 },
  cloud: { off: 8, len: 1 },
  flags: { off: 9, len: 1 },
  entryRecordSize: { off: 10, len: 2 },
  interfaceCount: { off: 12, len: 4 },
  addressCount: { off: 16, len: 4 },
  entryCount: { off: 20, len: 4 },
  ruleCount: { off: 24, len: 4 },
  stringsLen: { off: 28, len: 4 },
  interfacesOff: { off: 32, len: 4 },
  addressesOff: { off: 36, len: 4 },
  entriesOff: { off: 40, len: 4 },
  rulesOff: { off: 44, len: 4 },
  stringsOff: { off: 48, len: 4 },
  conntrackOff: { off: 52, len: 4 },
  totalLen: { off: 56, len: 4 },
  crc32: { off: 60, len: 4 },
  size: 64,
} as const;

export const NIC_TYPE_CODES = { none: 0, internet: 1, intranet: 2 } as const;

export const IFACE = {
  nameOff: { off: 0, len: 4 },
  nameLen: { off: 4, len: 2 },
  nicType: { off: 6, len: 1 },
  reserved: { off: 7, len: 1 },
  addrFirst: { off: 8, len: 4 },
  addrCount: { off: 12, len: 4 },
  ingressFirst: { off: 16, len: 4 },
  ingressCount: { off: 20, len: 4 },
  egressFirst: { off: 24, len: 4 },
  egressCount: { off: 28, len: 4 },
  size: 32,
} as const;

export const ADDRESS = {
  iface: { off: 0, len: 4 },
  family: { off: 4, len: 1 },
  reserved: { off: 5, len: 3 },
  addr: { off: 8, len: 16 },
  size: 24,
} as const;

export const FLAG_PROTO_ANY = 0x01;
export const FLAG_ICMP_TYPE_ANY = 0x02;
export const FLAG_ICMP_CODE_ANY = 0x04;
export const FLAG_UNTRACKED_TCP = 0x08;
export const FLAG_UNTRACKED_UDP = 0x10;

export const ENTRY = {
  rule: { off: 0, len: 4 },
  iface: { off: 4, len: 2 },
  direction: { off: 6, len: 1 },
  action: { off: 7, len: 1 },
  reason: { off: 8, len: 1 },
  family: { off: 9, len: 1 },
  proto: { off: 10, len: 1 },
  flags: { off: 11, len: 1 },
  sportLo: { off: 12, len: 2 },
  sportHi: { off: 14, len: 2 },
  dportLo: { off: 16, len: 2 },
  dportHi: { off: 18, len: 2 },
  icmpType: { off: 20, len: 1 },
  icmpCode: { off: 21, len: 1 },
  srcLen: { off: 22, len: 1 },
  dstLen: { off: 23, len: 1 },
  src: { off: 24, len: 16 },
  dst: { off: 40, len: 16 },
  priority: { off: 56, len: 2 },
  reserved: { off: 58, len: 2 },
  order: { off: 60, len: 4 },
  size: 64,
} as const;

export const RULE = {
  idOff: { off: 0, len: 4 },
  idLen: { off: 4, len: 2 },
  reason: { off: 6, len: 1 },
  action: { off: 7, len: 1 },
  size: 8,
} as const;

/** Timeout slots in the order of native TimeoutSlot. */
export const TIMEOUT_SLOTS = [
  'tcpSynSent', 'tcpSynRecv', 'tcpEstablished', 'tcpFinWait', 'tcpCloseWait', 'tcpLastAck',
  'tcpTimeWait', 'tcpClose', 'udp', 'udpStream', 'icmp', 'other', 'fragment',
] as const;

export const CONNTRACK = {
  maxFlows: { off: 0, len: 4 },
  timeouts: { off: 4, len: 4 * TIMEOUT_SLOTS.length },
  maxFragments: { off: 56, len: 4 },
  reserved: { off: 60, len: 4 },
  size: 64,
} as const;

/** Sections start on 8-byte boundaries. */
export const SECTION_ALIGN = 8;
