import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'cli', 'main.js');

/** A `nudge run` child process: the real thing, killable with SIGKILL like a crashed pod. */
export class ReplicaProcess {
  readonly child: ChildProcess;
  #output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [cli, 'run', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      // Keep the tail only: a long soak logs a lot.
      this.#output = (this.#output + d.toString()).slice(-200_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get output(): string {
    return this.#output;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  async stop(): Promise<number | null> {
    this.kill('SIGTERM');
    const { code } = await this.exited;
    return code;
  }
}
