// No Docker engine runs here, so the image is checked by parsing: the Dockerfile with
// dockerfile-ast, the compose file with `yaml` against the table the README promises, the
// systemd unit's hardening; and the image's entry command is run outside Docker on a clean
// data directory, where it must start the server and answer /readyz.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { freePort } from '../helpers/ports.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (p: string) => readFile(path.join(ROOT, p), 'utf8');

async function dockerfile() {
  const df = DockerfileParser.parse(await read('Dockerfile'));
  const ins = df.getInstructions();
  const stages = df.getFROMs();
  const runtimeStart = ins.indexOf(stages[stages.length - 1]!);
  const runtime = ins.slice(runtimeStart);
  const of = (k: string, list: Instruction[] = runtime) => list.filter((i) => i.getKeyword() === k);
  const json = (i: Instruction) => JSON.parse(i.getArgumentsContent()!) as string[];
  return { df, ins, stages, runtime, of, json };
}

/** Rows of the README table under "### Compose services": service | ports | volumes. */
async function readmePromises(): Promise<Array<{ service: string; ports: string[]; volumes: string[] }>> {
  const text = await read('README.md');
  const start = text.indexOf('### Compose services');
  expect(start, 'README has a "### Compose services" table').toBeGreaterThan(0);
  const section = text.slice(start).split('\n').slice(1);
  const rows: Array<{ service: string; ports: string[]; volumes: string[] }> = [];
  for (const line of section) {
    if (line.startsWith('#')) break;
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || cells[1] === 'service' || /^-+$/.test(cells[1]!)) continue;
    const list = (c: string) => (c === '' || c === '—' ? [] : c.split(',').map((x) => x.replace(/`/g, '').trim()));
    rows.push({ service: cells[1]!.replace(/`/g, ''), ports: list(cells[2]!), volumes: list(cells[3]!) });
  }
  return rows;
}

describe('Dockerfile', () => {
  it('is multi-stage, pins its base image, runs as a non-root user, has a health check and volumes', async () => {
    const { df, stages, of, json } = await dockerfile();
    expect(stages.length).toBeGreaterThanOrEqual(2);
    // The base image, through its ARG default: an exact version, never latest.
    for (const from of stages) {
      let image = from.getImageName() ?? '';
      let tag = from.getImageTag();
      if (image.startsWith('$')) {
        const arg = df.getInitialARGs().flatMap((a) => a.getProperties()).find((p) => `\${${p.getName()}}` === from.getArguments()[0]!.getValue());
        expect(arg, 'ARG default for the base image').toBeDefined();
        [image, tag] = arg!.getValue()!.split(':') as [string, string];
      }
      expect(image).toBe('node');
      expect(tag).toMatch(/^\d+\.\d+\.\d+-[a-z]+(-slim)?$/);
    }
    const user = of('USER');
    expect(user).toHaveLength(1);
    expect(user[0]!.getArgumentsContent()).not.toMatch(/^(root|0)(:|$)/);
    const hc = of('HEALTHCHECK');
    expect(hc).toHaveLength(1);
    expect(hc[0]!.getRawArgumentsContent()).toContain('/healthz');
    const volumes = of('VOLUME').flatMap(json);
    expect(volumes).toEqual(expect.arrayContaining(['/var/lib/mailserver', '/etc/mailserver/tls']));
    // The baked config writes into the data volume.
    const cfg = YAML.parse(await read('deploy/docker/config.yaml')) as { dataDir: string };
    expect(volumes).toContain(cfg.dataDir);
    // The runtime stage takes no compilers and no dev dependencies along.
    expect(of('RUN').map((r) => r.getRawArgumentsContent()).join(' ')).not.toMatch(/g\+\+|npm (ci|install)/);
  });

  it("the image's entry command starts the server on a clean data directory and answers /readyz", async () => {
    const { of, json, runtime } = await dockerfile();
    const workdir = of('WORKDIR').at(-1)!.getArgumentsContent()!;
    expect(workdir).toBe('/app');
    const argv = [...json(of('ENTRYPOINT')[0]!), ...json(of('CMD')[0]!)];
    // Map image paths back to the repository: /app is the repo root; COPY'd files to their sources.
    const copies = new Map(
      runtime
        .filter((i) => i.getKeyword() === 'COPY' && !i.getTextContent().includes('--from'))
        .map((i) => {
          const a = i.getArguments().map((x) => x.getValue());
          return [a[a.length - 1]!, path.join(ROOT, a[0]!)] as const;
        }),
    );
    const local = argv.map((a) => copies.get(a) ?? a);
    expect(local[0]).toBe('node');
    const dataDir = await mkdtemp(path.join(tmpdir(), 'entry-'));
    const httpPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      // The volume is empty; every listener on a free port (the image's ports may be taken here).
      MAILSERVER__DATADIR: dataDir,
      MAILSERVER__HTTP__PORT: String(httpPort),
      MAILSERVER__LMTP__PORT: '0',
      MAILSERVER__IMAP__STARTTLS__PORT: '0',
      MAILSERVER__IMAP__TLS__PORT: '0',
      MAILSERVER__POP3__STARTTLS__PORT: '0',
      MAILSERVER__POP3__TLS__PORT: '0',
      MAILSERVER__SUBMISSION__STARTTLS__PORT: '0',
      MAILSERVER__SUBMISSION__TLS__PORT: '0',
    };
    const child = spawn(process.execPath, local.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 30_000;
      let ready: { status: number; body: { status: string } } | null = null;
      while (!ready) {
        if (child.exitCode !== null) throw new Error(`entry command exited with ${child.exitCode}: ${output}`);
        if (Date.now() > deadline) throw new Error(`no /readyz within 30 s: ${output}`);
        try {
          const r = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
          if (r.status === 200) ready = { status: r.status, body: (await r.json()) as { status: string } };
        } catch {
          // not listening yet
        }
        if (!ready) await new Promise((r) => setTimeout(r, 200));
      }
      expect(ready.body.status).toBe('ready');
      expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toMatch(/"msg":"mailserver started"/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('docker-compose.yml', () => {
  it('has the services, published ports and volumes the README promises, and none of the retired ones', async () => {
    const compose = YAML.parse(await read('deploy/docker-compose.yml')) as {
      services: Record<string, { ports?: string[]; volumes?: string[]; image?: string; build?: unknown }>;
      volumes: Record<string, unknown>;
    };
    const promised = await readmePromises();
    expect(promised.map((p) => p.service).sort()).toEqual(Object.keys(compose.services).sort());
    for (const p of promised) {
      const svc = compose.services[p.service]!;
      const published = (svc.ports ?? []).map((x) => x.split(':').at(-2)!);
      expect(published.sort(), p.service).toEqual(p.ports.map(String).sort());
      const vols = (svc.volumes ?? []).map((v) => v.split(':')[0]!);
      expect(vols.sort(), p.service).toEqual([...p.volumes].sort());
      for (const v of vols) if (!v.startsWith('.')) expect(compose.volumes, v).toHaveProperty(v);
      if (svc.image && p.service !== 'mailserver') expect(svc.image).toMatch(/:[0-9]/); // pinned
    }
    for (const gone of ['postfix', 'dovecot', 'opendkim', 'ingest', 'usermgmt']) expect(Object.keys(compose.services)).not.toContain(gone);
  });

  it("wires the mailserver's scanners to the rspamd and clamav services through its environment", async () => {
    const compose = YAML.parse(await read('deploy/docker-compose.yml')) as {
      services: Record<string, { environment?: Record<string, string>; expose?: string[]; secrets?: string[] }>;
      secrets: Record<string, { file: string }>;
    };
    const ms = compose.services.mailserver!;
    // The secret files the compose file names stand in as temporary files here.
    const dir = await mkdtemp(path.join(tmpdir(), 'compose-env-'));
    try {
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(ms.environment ?? {})) {
        const secret = /^\/run\/secrets\/(.+)$/.exec(v);
        if (secret) {
          expect(ms.secrets, k).toContain(secret[1]);
          expect(compose.secrets).toHaveProperty(secret[1]!);
          const f = path.join(dir, secret[1]!);
          await writeFile(f, 'stand-in\n');
          env[k] = f;
        } else env[k] = v;
      }
      delete env.MAILSERVER__TLS__CERTFILE; // the certificate files are not here
      delete env.MAILSERVER__TLS__KEYFILE;
      const cfg = await loadConfig({ env, cwd: dir });
      expect(cfg.scan.clamav.host).toBe('clamav');
      expect(cfg.scan.clamav.port).toBe(3310);
      expect(new URL(cfg.scan.rspamd.url!).hostname).toBe('rspamd');
      const controller = new URL(cfg.scan.rspamd.controllerUrl!);
      expect(controller.hostname).toBe('rspamd');
      expect(cfg.scan.rspamd.controllerPassword).toBe('stand-in');
      const exposed = compose.services.rspamd!.expose ?? [];
      expect(exposed).toContain(new URL(cfg.scan.rspamd.url!).port);
      expect(exposed).toContain(controller.port);
      expect(compose.services.clamav!.expose ?? []).toContain(String(cfg.scan.clamav.port));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('systemd unit', () => {
  it('runs unprivileged with the hardening options and only the capability to bind low ports', async () => {
    const unit = await read('deploy/systemd/mailserver.service');
    const kv = new Map<string, string[]>();
    for (const line of unit.split('\n')) {
      const m = /^([A-Za-z]+)=(.*)$/.exec(line);
      if (m) kv.set(m[1]!, [...(kv.get(m[1]!) ?? []), m[2]!]);
    }
    expect(kv.get('User')).toEqual(['mailserver']);
    expect(kv.get('ProtectSystem')).toEqual(['strict']);
    expect(kv.get('NoNewPrivileges')).toEqual(['yes']);
    expect(kv.get('AmbientCapabilities')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kv.get('CapabilityBoundingSet')).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(kv.get('ExecStart')![0]).toContain('dist/src/main.js');
    expect(await read('deploy/systemd/mailserver-backup.timer')).toMatch(/OnCalendar=/);
  });
});
