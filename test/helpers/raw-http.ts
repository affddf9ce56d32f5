/**
 * An HTTP/1.1 client on a bare TCP socket, for the request-body-limit tests. Node's http client is
 * patched by nock (mswjs interceptors) in any Jest worker that ran a nock test before, and then
 * streams bodies differently (write ECANCELED/EPIPE); a raw socket is not intercepted, and it reads
 * the server's answer whatever happens to the upload.
 */
import { connect } from "node:net";

export interface RawAnswer {
  /** 0 when no status line arrived. */
  status: number;
  body: string;
  /** The server closed the connection within `closeWaitMs` of answering. */
  closed: boolean;
  /** Body bytes written before the answer arrived (or the upload ended). */
  sent: number;
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** A string (sent with its Content-Length unless headers say otherwise) or chunks (chunked encoding unless a content-length header is given). */
  body?: string | (() => AsyncIterable<Buffer>);
  /** Stop uploading once the answer's status line has arrived. */
  stopOnAnswer?: boolean;
  closeWaitMs?: number;
}

export function rawRequest(url: string, r: RawRequest = {}): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    let received = Buffer.alloc(0);
    let status = 0;
    let answeredAt = 0;
    let closed = false;
    let sent = 0;
    let settled = false;
    const headers: Record<string, string> = { host: u.host, connection: "keep-alive", ...r.headers };
    const hasLength = Object.keys(headers).some((h) => h.toLowerCase() === "content-length");
    const streamed = typeof r.body === "function";
    if (typeof r.body === "string" && !hasLength)
      headers["content-length"] = String(Buffer.byteLength(r.body));
    if (streamed && !hasLength) headers["transfer-encoding"] = "chunked";
    const chunked = streamed && !hasLength;

    const finish = () => {
      if (settled) return;
      settled = true;
      const text = received.toString("utf8");
      const sep = text.indexOf("\r\n\r\n");
      let body = sep >= 0 ? text.slice(sep + 4) : "";
      if (sep >= 0 && /\r\ntransfer-encoding: *chunked/i.test(text.slice(0, sep)))
        body = body.replace(/(?:^|\r\n)[0-9a-f]+\r\n/gi, "").replace(/\r\n$/, "");
      resolve({ status, body, closed, sent });
      socket.destroy();
    };
    socket.on("data", (d: Buffer) => {
      received = Buffer.concat([received, d]);
      const text = received.toString("latin1");
      if (!status) {
        const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
        if (m) {
          status = Number(m[1]);
          answeredAt = Date.now();
          setTimeout(finish, r.closeWaitMs ?? 5000).unref();
        }
      }
      // A complete answer that is not a refusal: done (a refusal is followed by the close we watch for).
      const sep = text.indexOf("\r\n\r\n");
      const head = sep >= 0 ? text.slice(0, sep) : "";
      const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
      const complete =
        sep >= 0 &&
        (length !== undefined
          ? received.length - (sep + 4) >= Number(length)
          : /\r\ntransfer-encoding: *chunked/i.test(head) && text.endsWith("0\r\n\r\n"));
      if (status && status !== 413 && status !== 503 && complete) finish();
    });
    socket.on("error", () => {}); // a reset after the answer is expected; the answer is what counts
    socket.on("close", () => {
      closed = true;
      setTimeout(finish, 50);
    });
    const write = (b: Buffer | string): Promise<void> =>
      new Promise((res) => {
        if (socket.destroyed || (r.stopOnAnswer && status)) return res();
        if (socket.write(b)) res();
        else socket.once("drain", () => res());
      });
    socket.on("connect", async () => {
      const head = `${r.method ?? "POST"} ${r.path ?? "/"} HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join("")}\r\n`;
      await write(head);
      if (typeof r.body === "string") {
        await write(r.body);
        sent += Buffer.byteLength(r.body);
      } else if (streamed) {
        for await (const c of (r.body as () => AsyncIterable<Buffer>)()) {
          if (socket.destroyed || (r.stopOnAnswer && status)) break;
          await write(
            chunked
              ? Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from("\r\n")])
              : c,
          );
          sent += c.length;
        }
        if (chunked && !socket.destroyed && !(r.stopOnAnswer && status)) await write("0\r\n\r\n");
      }
    });
  });
}
