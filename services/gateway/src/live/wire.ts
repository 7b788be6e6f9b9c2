/**
 * A server frame serialized once and shared by every recipient. An update goes to
 * thousands of sockets per tick; handing each socket the same finished WebSocket frame
 * saves the per-socket UTF-8 encoding and framing that ws.send(text) would repeat
 * (in the 10k-client benchmark that work was a third of the gateway's CPU per frame).
 */
export class OutFrame {
  private bytes: Buffer | undefined;

  constructor(readonly text: string) {}

  /** The complete frame as a server sends it: FIN text frame, unmasked, uncompressed. */
  get wire(): Buffer {
    return (this.bytes ??= encodeTextFrame(this.text));
  }
}

/** RFC 6455 §5.2 framing of one unfragmented, unmasked text message. */
export function encodeTextFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN + opcode 1 (text)
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, header, 'utf8');
  return frame;
}
