/**
 * A loopback TCP proxy for tests, drills and the benchmark: forwards every connection to a target
 * port and can cut connections off (a TCP reset both ways) after a number of client-to-server
 * bytes, to play a network that fails in the middle of an upload, stall them (stop forwarding,
 * keep the connection open), to play one that goes silent, throttle them to a number of bytes a
 * second each way, to play a slow link on which an upload takes seconds, or delay every chunk
 * by a number of milliseconds each way, to play a server far away (the kernel's netem is not
 * available on these machines).
 */
import { connect, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

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
  /** Hold every chunk this many milliseconds before forwarding it, in each direction (a round trip gains twice this); 0: none. Applies to chunks that arrive afterwards. */
  delay(oneWayMs: number): void;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  readonly targetPort: number;
  readonly targetHost?: string;
  readonly cutAfterBytes?: number | null;
  readonly bytesPerSecond?: number | null;
  /** One-way delay each direction, in milliseconds (default 0). */
  readonly delayMs?: number;
}

interface ProxyState {
  readonly cutAfterBytes: number | null;
  readonly stallAfterBytes: number | null;
  readonly bytesPerSecond: number | null;
  readonly delayMs: number;
  onCut(): void;
  onClientBytes(count: number): void;
}

/** How often a throttled direction forwards its share. */
const THROTTLE_TICK_MS = 20;
/** Bytes a throttled direction holds before it stops reading its source (TCP then pushes back). */
const THROTTLE_HIGH_WATER_BYTES = 256 * 1024;
/**
 * Bytes a delayed direction holds before it stops reading its source: a bound on the proxy's
 * memory, far above what SSH keeps in flight (sshd's 2 MiB channel window), so it never is
 * what limits a transfer through the proxy.
 */
const DELAY_LINE_HIGH_WATER_BYTES = 16 * 1024 * 1024;

/** A chunk (or, as null, the end of the stream) and when it may leave. */
interface Delayed {
  readonly data: Buffer | null;
  readonly dueMs: number;
}

/**
 * One direction of a connection. Data passes a token bucket when the proxy is throttled (it
 * leaves at the proxy's rate, in bursts of at most two ticks' worth; what the bucket does not
 * let through yet waits in a queue), then a
 * delay line when the proxy delays: each chunk leaves its delay after it arrived, in arrival
 * order. The source is paused while either holds too much, so a fast sender is slowed by TCP's
 * own flow control rather than by unbounded buffering here.
 */
class Direction {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Bytes the token bucket lets through now, and when it was last filled; a new link starts with a full bucket. */
  private tokens = Number.POSITIVE_INFINITY;
  private filledAtMs = performance.now();
  private readonly line: Delayed[] = [];
  private lineBytes = 0;
  private lineTimer: NodeJS.Timeout | null = null;
  private ended = false;
  private endQueued = false;
  private endForwarded = false;
  /** Called once the end of the stream has been forwarded. */
  afterEnd: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly source: Socket,
    private readonly rate: () => number | null,
    private readonly delayMs: () => number,
    private readonly forward: (data: Buffer) => void,
    private readonly forwardEnd: () => void,
  ) {}

  push(data: Buffer): void {
    if (this.closed) return;
    if (this.rate() === null && this.queue.length === 0) {
      this.toLine(data);
      return;
    }
    this.queue.push(data);
    this.queuedBytes += data.length;
    if (this.queuedBytes >= THROTTLE_HIGH_WATER_BYTES) this.source.pause();
    if (!this.timer) this.pump();
  }

  end(): void {
    this.ended = true;
    if (this.queue.length === 0) this.queueEnd();
  }

  /** A rate set after the data queued: pick it up now. */
  wake(): void {
    if (this.queue.length > 0 && !this.timer) this.pump();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.lineTimer) clearTimeout(this.lineTimer);
    this.timer = null;
    this.lineTimer = null;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.line.length = 0;
    this.lineBytes = 0;
  }

  /** The source ended and everything it sent is still to be forwarded, end included. */
  get holdsEnd(): boolean {
    return this.ended && !this.endForwarded;
  }

  private finish(): void {
    this.endForwarded = true;
    this.forwardEnd();
    this.afterEnd?.();
  }

  private queueEnd(): void {
    if (this.endQueued) return;
    this.endQueued = true;
    this.toLine(null);
  }

  /** Into the delay line; straight through when there is no delay and nothing waits ahead. */
  private toLine(data: Buffer | null): void {
    const delayMs = this.delayMs();
    if (delayMs === 0 && this.line.length === 0) {
      if (data === null) this.finish();
      else this.forward(data);
      return;
    }
    this.line.push({ data, dueMs: performance.now() + delayMs });
    if (data !== null) {
      this.lineBytes += data.length;
      if (this.lineBytes >= DELAY_LINE_HIGH_WATER_BYTES) this.source.pause();
    }
    this.scheduleLine();
  }

  private scheduleLine(): void {
    const head = this.line[0];
    if (this.lineTimer || this.closed || !head) return;
    this.lineTimer = setTimeout(() => this.lineTick(), Math.max(0, Math.ceil(head.dueMs - performance.now())));
  }

  /** Forwards every chunk whose time has come, oldest first. */
  private lineTick(): void {
    this.lineTimer = null;
    const now = performance.now();
    while (!this.closed && this.line.length > 0 && (this.line[0] as Delayed).dueMs <= now) {
      const { data } = this.line.shift() as Delayed;
      if (data === null) this.finish();
      else {
        this.lineBytes -= data.length;
        this.forward(data);
      }
    }
    this.resumeIfRoom();
    this.scheduleLine();
  }

  private resumeIfRoom(): void {
    if (this.closed || !this.source.isPaused()) return;
    if (this.queuedBytes < THROTTLE_HIGH_WATER_BYTES / 2 && this.lineBytes < DELAY_LINE_HIGH_WATER_BYTES / 2) this.source.resume();
  }

  /**
   * Forwards what the bucket's tokens allow; what is left waits for the next tick. A quiet link
   * holds at most two ticks' worth, so a small message passes at once and the rate holds over
   * any second; while data waits the tokens all count, so a tick that fires late (a busy
   * machine) does not slow the link below its rate.
   */
  private pump(waited = false): void {
    this.timer = null;
    if (this.closed) return;
    const now = performance.now();
    const rate = this.rate();
    const burst = rate === null ? Number.POSITIVE_INFINITY : (rate * THROTTLE_TICK_MS * 2) / 1000;
    const filled = rate === null ? Number.POSITIVE_INFINITY : this.tokens + (rate * (now - this.filledAtMs)) / 1000;
    this.tokens = waited ? filled : Math.min(filled, burst);
    this.filledAtMs = now;
    while (this.queue.length > 0 && this.tokens >= 1 && !this.closed) {
      const head = this.queue[0] as Buffer;
      const take = Math.min(head.length, Math.floor(this.tokens));
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
      this.queuedBytes -= take;
      this.tokens -= take;
      this.toLine(take === head.length ? head : head.subarray(0, take));
    }
    this.resumeIfRoom();
    if (this.queue.length > 0) this.timer = setTimeout(() => this.pump(true), THROTTLE_TICK_MS);
    else {
      this.tokens = Math.min(this.tokens, burst);
      if (this.ended) this.queueEnd();
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
    const delayMs = () => proxy.delayMs;
    this.up = new Direction(
      client,
      rate,
      delayMs,
      (data) => this.toServer(data),
      () => {
        if (!this.stalled) server.end();
      },
    );
    this.down = new Direction(
      server,
      rate,
      delayMs,
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
    client.on('close', (hadError) => this.closeAfter(this.up, server, hadError));
    server.on('close', (hadError) => this.closeAfter(this.down, client, hadError));
  }

  /**
   * One socket closed. After a clean close, what the other side has yet to receive from it (held
   * by the delay) still arrives, end included, as on a real network; then the link closes.
   */
  private closeAfter(from: Direction, to: Socket, hadError: boolean): void {
    if (hadError || !from.holdsEnd) {
      this.close();
      return;
    }
    from.afterEnd = () => (to.writableFinished ? this.close() : to.once('finish', () => this.close()));
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

function checkedDelay(oneWayMs: number): number {
  if (!(Number.isFinite(oneWayMs) && oneWayMs >= 0)) throw new Error(`delay is ${oneWayMs}; allowed: a number of milliseconds ≥ 0`);
  return oneWayMs;
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const links = new Set<Link>();
  const state = {
    cutAfterBytes: options.cutAfterBytes ?? null,
    stallAfterBytes: null as number | null,
    bytesPerSecond: options.bytesPerSecond ?? null,
    delayMs: checkedDelay(options.delayMs ?? 0),
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
    get delayMs() {
      return state.delayMs;
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
    delay(oneWayMs: number) {
      state.delayMs = checkedDelay(oneWayMs);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const link of links) link.close();
        server.close(() => resolve());
      }),
  };
}
