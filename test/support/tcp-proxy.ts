/**
 * A loopback TCP proxy for tests: forwards every connection to a target port and can cut
 * connections off (a TCP reset both ways) after a number of client-to-server bytes, to play a
 * network that fails in the middle of an upload, or stall them (stop forwarding, keep the
 * connection open), to play one that goes silent.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Cut every connection (open and future) once it has carried this many client-to-server bytes; null stops cutting. */
  cutAfter(clientBytes: number | null): void;
  /** Like cutAfter, but the connection stays open and nothing more (data or close) is forwarded either way: a network gone silent. */
  stallAfter(clientBytes: number | null): void;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  readonly targetPort: number;
  readonly targetHost?: string;
  readonly cutAfterBytes?: number | null;
}

interface ProxyState {
  readonly cutAfterBytes: number | null;
  readonly stallAfterBytes: number | null;
  onCut(): void;
}

class Link {
  clientBytes = 0;
  private cut = false;
  private stalled = false;

  constructor(
    private readonly client: Socket,
    private readonly server: Socket,
    private readonly proxy: ProxyState,
  ) {
    client.on('data', (data: Buffer) => this.fromClient(data));
    server.on('data', (data: Buffer) => {
      if (!this.cut && !this.stalled) client.write(data);
    });
    client.on('end', () => {
      if (!this.stalled) server.end();
    });
    server.on('end', () => {
      if (!this.stalled) client.end();
    });
    client.on('error', () => this.close());
    server.on('error', () => this.close());
    client.on('close', () => this.close());
    server.on('close', () => this.close());
  }

  private fromClient(data: Buffer): void {
    if (this.cut || this.stalled) return;
    const stallAt = this.proxy.stallAfterBytes;
    if (stallAt !== null && this.clientBytes + data.length >= stallAt) {
      const allowed = Math.max(0, stallAt - this.clientBytes);
      this.clientBytes += allowed;
      this.server.write(data.subarray(0, allowed));
      this.stalled = true;
      return;
    }
    const limit = this.proxy.cutAfterBytes;
    if (limit === null || this.clientBytes + data.length < limit) {
      this.clientBytes += data.length;
      this.server.write(data);
      return;
    }
    const allowed = Math.max(0, limit - this.clientBytes);
    this.clientBytes += allowed;
    this.server.write(data.subarray(0, allowed), () => this.resetBoth());
    this.cut = true;
    this.proxy.onCut();
  }

  /** Checks an open link against limits set after it opened. */
  enforce(): void {
    const stallAt = this.proxy.stallAfterBytes;
    if (stallAt !== null && this.clientBytes >= stallAt) this.stalled = true;
    const limit = this.proxy.cutAfterBytes;
    if (!this.cut && limit !== null && this.clientBytes >= limit) {
      this.cut = true;
      this.proxy.onCut();
      this.resetBoth();
    }
  }

  private resetBoth(): void {
    this.client.resetAndDestroy();
    this.server.resetAndDestroy();
  }

  close(): void {
    this.client.destroy();
    this.server.destroy();
  }
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const links = new Set<Link>();
  const state = { cutAfterBytes: options.cutAfterBytes ?? null, stallAfterBytes: null as number | null, connections: 0, cuts: 0 };
  const shared: ProxyState = {
    get cutAfterBytes() {
      return state.cutAfterBytes;
    },
    get stallAfterBytes() {
      return state.stallAfterBytes;
    },
    onCut: () => {
      state.cuts += 1;
    },
  };
  // Half-open allowed: a close is forwarded by hand, so a stalled link can swallow it.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    state.connections += 1;
    client.pause();
    const upstream = connect({ host: options.targetHost ?? '127.0.0.1', port: options.targetPort, allowHalfOpen: true });
    const link = new Link(client, upstream, shared);
    links.add(link);
    client.once('close', () => links.delete(link));
    upstream.once('connect', () => client.resume());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the TCP proxy has no port');
  return {
    port: address.port,
    get connections() {
      return state.connections;
    },
    get cuts() {
      return state.cuts;
    },
    cutAfter(clientBytes: number | null) {
      state.cutAfterBytes = clientBytes;
      for (const link of links) link.enforce();
    },
    stallAfter(clientBytes: number | null) {
      state.stallAfterBytes = clientBytes;
      for (const link of links) link.enforce();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const link of links) link.close();
        server.close(() => resolve());
      }),
  };
}
