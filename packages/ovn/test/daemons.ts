// Private OVSDB servers (and northd) for the tests, in a temp folder of their own: own sockets, own pidfiles.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export class Daemons {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'aster-ovn-'));
  private pidfiles: string[] = [];

  get nbSock(): string {
    return path.join(this.dir, 'nb.sock');
  }
  get sbSock(): string {
    return path.join(this.dir, 'sb.sock');
  }
  get nb(): string {
    return `unix:${this.nbSock}`;
  }
  get sb(): string {
    return `unix:${this.sbSock}`;
  }

  /** Creates (once) and starts the database `name` ('nb' or 'sb') with its schema. */
  startDb(name: 'nb' | 'sb'): void {
    const db = path.join(this.dir, `${name}.db`);
    if (!existsSync(db)) execFileSync('ovsdb-tool', ['create', db, `/usr/share/ovn/ovn-${name}.ovsschema`]);
    const pidfile = path.join(this.dir, `${name}.pid`);
    execFileSync('ovsdb-server', [
      `--remote=punix:${path.join(this.dir, `${name}.sock`)}`,
      `--pidfile=${pidfile}`,
      `--unixctl=${path.join(this.dir, `${name}.ctl`)}`,
      `--log-file=${path.join(this.dir, `${name}.log`)}`,
      '--detach',
      db,
    ]);
    if (!this.pidfiles.includes(pidfile)) this.pidfiles.push(pidfile);
  }

  /** Stops one database server (for reconnect tests). */
  stopDb(name: 'nb' | 'sb'): void {
    this.kill(path.join(this.dir, `${name}.pid`));
  }

  /** A transaction on a stopped database's file (`ovsdb-tool transact`). */
  offlineTransact(name: 'nb' | 'sb', ops: unknown[]): void {
    const schema = name === 'nb' ? 'OVN_Northbound' : 'OVN_Southbound';
    execFileSync('ovsdb-tool', ['transact', path.join(this.dir, `${name}.db`), JSON.stringify([schema, ...ops])]);
  }

  startNorthd(): void {
    const pidfile = path.join(this.dir, 'northd.pid');
    execFileSync('ovn-northd', [
      `--ovnnb-db=${this.nb}`,
      `--ovnsb-db=${this.sb}`,
      `--pidfile=${pidfile}`,
      `--unixctl=${path.join(this.dir, 'northd.ctl')}`,
      `--log-file=${path.join(this.dir, 'northd.log')}`,
      '--detach',
    ]);
    this.pidfiles.push(pidfile);
  }

  /** Waits until northd has caught up with NB (`ovn-nbctl --wait=sb sync`). */
  syncNorthd(): void {
    execFileSync('ovn-nbctl', [`--db=${this.nb}`, '--wait=sb', '--timeout=20', 'sync']);
  }

  nbctl(...args: string[]): string {
    return execFileSync('ovn-nbctl', [`--db=${this.nb}`, ...args], { encoding: 'utf8' });
  }

  sbctl(...args: string[]): string {
    return execFileSync('ovn-sbctl', [`--db=${this.sb}`, ...args], { encoding: 'utf8' });
  }

  private kill(pidfile: string): void {
    if (!existsSync(pidfile)) return;
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    // Wait until it is gone, so a restart can take the same socket and pidfile.
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      execFileSync('sleep', ['0.02']);
    }
  }

  stopAll(): void {
    for (const p of [...this.pidfiles].reverse()) this.kill(p);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
