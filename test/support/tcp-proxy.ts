/**
 * A loopback TCP proxy for tests and drills: forwards every connection to a target port and can
 * cut connections off (a TCP reset both ways) after a number of client-to-server bytes, to play
 * a network that fails in the middle of an upload, stall them (stop forwarding, keep the
 * connection open), to play one that goes silent, or throttle them to a number of bytes a
 * second each way, to play a slow link on which an upload takes seconds.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Client-to-server bytes forwarded so far, over all connections. */
  readonly clientBytes: number;
  /** Cut every connection (open and future) once it has carried this many client-to-server bytes; null stops cutting. */
  cutAfter(clientBytes: number | null): void;
  /** Like cutAfter, but the connection stays open and nothing more (data or close) is forwarded either way: a network gone silent. */
  stallAfter(clientBytes: number | null): void;
  /** Forward at most this many bytes a second in each direction of each connection (open and future); null: as fast as they come. */
  throttle(bytesPerSecond: number | null): void;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  readonly targetPort: number;
  readonly targetHost?: string;
  readonly cutAfterBytes?: number | null;
  readonly bytesPerSecond?: number | null;
}

interface ProxyState {
  readonly cutAfterBytes: number | null;
  readonly stallAfterBytes: number | null;
  readonly bytesPerSecond: number | null;
  onCut(): void;
  onClientBytes(count: number): void;
}

/** How often a throttled direction forwards its share. */
const THROTTLE_TICK_MS = 20;
/** Bytes a throttled direction holds before it stops reading its source (TCP then pushes back). */
const THROTTLE_HIGH_WATER_BYTES = 256 * 1024;

/**
 * One direction of a connection, throttled when the proxy says so: data waits in a queue and
 * leaves at the proxy's rate; the source is paused while the queue is full, so a fast sender
 * is slowed by TCP's own flow control rather than by unbounded buffering here.
 */
class Direction {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastTick = 0;
  private allowance = 0;
  private ended = false;
  private closed = false;

  constructor(
    private readonly source: Socket,
    private readonly rate: () => number | null,
    private readonly forward: (data: Buffer) => void,
    private readonly forwardEnd: () => void,
  ) {}

  push(data: Buffer): void {
    if (this.closed) return;
    if (this.rate() === null && this.queue.length === 0) {
      this.forward(data);
      return;
    }
    this.queue.push(data);
    this.queuedBytes += data.length;
    if (this.queuedBytes >= THROTTLE_HIGH_WATER_BYTES) this.source.pause();
    this.schedule();
  }

  end(): void {
    this.ended = true;
    if (this.queue.length === 0) this.forwardEnd();
  }

  /** A rate set after the data queued: pick it up now. */
  wake(): void {
    if (this.queue.length > 0) this.schedule();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    if (this.lastTick === 0) this.lastTick = Date.now();
    this.timer = setTimeout(() => this.tick(), THROTTLE_TICK_MS);
  }

  private tick(): void {
    this.timer = null;
    const now = Date.now();
    const rate = this.rate();
    // A burst is at most two ticks' worth, so the rate holds over any second.
    this.allowance =
      rate === null ? Number.POSITIVE_INFINITY : Math.min(this.allowance + (rate * (now - this.lastTick)) / 1000, (rate * THROTTLE_TICK_MS * 2) / 1000);
    this.lastTick = now;
    while (this.queue.length > 0 && this.allowance >= 1 && !this.closed) {
      const head = this.queue[0] as Buffer;
      const take = Math.min(head.length, Math.floor(this.allowance));
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
      this.queuedBytes -= take;
      this.allowance -= take;
      this.forward(take === head.length ? head : head.subarray(0, take));
    }
    if (this.queuedBytes < THROTTLE_HIGH_WATER_BYTES / 2 && this.source.isPaused()) this.source.resume();
    if (this.queue.length > 0) this.schedule();
    else {
      this.lastTick = 0;
      if (this.ended) this.forwardEnd();
    }
  }
}

class Link {
  clientBytes = 0;
  private cut = false;
  private stalled = false;
  private readonly up: Direction;
  private readonly down: Direction;

  constructor(
    private readonly client: Socket,
    private readonly server: Socket,
    private readonly proxy: ProxyState,
  ) {
    const rate = () => proxy.bytesPerSecond;
    this.up = new Direction(
      client,
      rate,
      (data) => this.toServer(data),
      () => {
        if (!this.stalled) server.end();
      },
    );
    this.down = new Direction(
      server,
      rate,
      (data) => {
        if (!this.cut && !this.stalled) client.write(data);
      },
      () => {
        if (!this.stalled) client.end();
      },
    );
    client.on('data', (data: Buffer) => {
      if (!this.cut && !this.stalled) this.up.push(data);
    });
    server.on('data', (data: Buffer) => {
      if (!this.cut && !this.stalled) this.down.push(data);
    });
    client.on('end', () => this.up.end());
    server.on('end', () => this.down.end());
    client.on('error', () => this.close());
    server.on('error', () => this.close());
    client.on('close', () => this.close());
    server.on('close', () => this.close());
  }

  private toServer(data: Buffer): void {
    if (this.cut || this.stalled) return;
    const stallAt = this.proxy.stallAfterBytes;
    if (stallAt !== null && this.clientBytes + data.length >= stallAt) {
      const allowed = Math.max(0, stallAt - this.clientBytes);
      this.count(allowed);
      this.server.write(data.subarray(0, allowed));
      this.stalled = true;
      return;
    }
    const limit = this.proxy.cutAfterBytes;
    if (limit === null || this.clientBytes + data.length < limit) {
      this.count(data.length);
      this.server.write(data);
      return;
    }
    const allowed = Math.max(0, limit - this.clientBytes);
    this.count(allowed);
    this.server.write(data.subarray(0, allowed), () => this.resetBoth());
    this.cut = true;
    this.proxy.onCut();
  }

  private count(bytes: number): void {
    this.clientBytes += bytes;
    this.proxy.onClientBytes(bytes);
  }

  /** Checks an open link against limits and rates set after it opened. */
  enforce(): void {
    const stallAt = this.proxy.stallAfterBytes;
    if (stallAt !== null && this.clientBytes >= stallAt) this.stalled = true;
    const limit = this.proxy.cutAfterBytes;
    if (!this.cut && limit !== null && this.clientBytes >= limit) {
      this.cut = true;
      this.proxy.onCut();
      this.resetBoth();
    }
    this.up.wake();
    this.down.wake();
  }

  private resetBoth(): void {
    this.up.close();
    this.down.close();
    this.client.resetAndDestroy();
    this.server.resetAndDestroy();
  }

  close(): void {
    this.up.close();
    this.down.close();
    this.client.destroy();
    this.server.destroy();
  }
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const links = new Set<Link>();
  const state = {
    cutAfterBytes: options.cutAfterBytes ?? null,
    stallAfterBytes: null as number | null,
    bytesPerSecond: options.bytesPerSecond ?? null,
    connections: 0,
    cuts: 0,
    clientBytes: 0,
  };
  const shared: ProxyState = {
    get cutAfterBytes() {
      return state.cutAfterBytes;
    },
    get stallAfterBytes() {
      return state.stallAfterBytes;
    },
    get bytesPerSecond() {
      return state.bytesPerSecond;
    },
    onCut: () => {
      state.cuts += 1;
    },
    onClientBytes: (count) => {
      state.clientBytes += count;
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
    get clientBytes() {
      return state.clientBytes;
    },
    cutAfter(clientBytes: number | null) {
      state.cutAfterBytes = clientBytes;
      for (const link of links) link.enforce();
    },
    stallAfter(clientBytes: number | null) {
      state.stallAfterBytes = clientBytes;
      for (const link of links) link.enforce();
    },
    throttle(bytesPerSecond: number | null) {
      if (bytesPerSecond !== null && !(bytesPerSecond > 0))
        throw new Error(`throttle is ${bytesPerSecond}; allowed: a positive number of bytes a second, or null`);
      state.bytesPerSecond = bytesPerSecond;
      for (const link of links) link.enforce();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const link of links) link.close();
        server.close(() => resolve());
      }),
  };
}
