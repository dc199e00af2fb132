import { hostname } from 'node:os';
import { versionCapsSetting } from '@aster/jobs';
import { flag, logLevel, parseEnv, postgresUrl, z } from '@aster/env';

const count = (fallback: number) => z.coerce.number().int('must be a whole number').min(0, 'must not be negative').default(fallback);

/** The compute agent's settings; nothing else in apps/compute-agent reads the environment. */
export const env = parseEnv(
  z.object({
    ASTER_COMPUTE_HOST: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'must be a host name (letters, digits, dots, dashes)')
      .default(hostname()),
    /** The agent's only use of the database is its job queues. */
    DATABASE_URL: postgresUrl,
    ASTER_API_URL: z.url({ error: 'must be the API URL, e.g. http://127.0.0.1:8774' }).default('http://127.0.0.1:8774'),
    /** `libvirt` runs real guests; `fake` keeps instances in memory (tests at scale, failure injection). */
    ASTER_DRIVER: z.enum(['libvirt', 'fake'], { error: 'must be libvirt or fake' }).default('libvirt'),
    ASTER_LIBVIRT_URI: z.string().default('qemu:///system'),
    /** Disks, config drives, console logs and the image cache; QEMU's user must be able to reach it. */
    ASTER_COMPUTE_STATE_DIR: z.string().default('/var/lib/aster/compute'),
    /** The libvirt network of the external network (its dnsmasq serves that network's DHCP; created when it is libvirt's missing `default`). */
    ASTER_LIBVIRT_NETWORK: z.string().default('default'),
    /** `auto`: kvm only if a guest boots under KVM at start (needs ASTER_KVM_PROBE_IMAGE), else qemu. */
    ASTER_DOMAIN_TYPE: z.enum(['auto', 'kvm', 'qemu'], { error: 'must be auto, kvm or qemu' }).default('auto'),
    ASTER_KVM_PROBE_IMAGE: z.string().optional(),
    /** The Open vSwitch integration bridge every guest port is plugged into (OVN's). */
    ASTER_OVS_BRIDGE: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be a bridge name of at most 15 letters, digits, dots, dashes or underscores')
      .default('br-int'),
    /** The bridge's datapath: `auto` asks Open vSwitch (the kernel's where it has the module, else userspace `netdev`). */
    ASTER_OVS_DATAPATH: z.enum(['auto', 'system', 'netdev'], { error: 'must be auto, system or netdev' }).default('auto'),
    /** Open vSwitch's database, when not the host's default (`unix:/var/run/openvswitch/db.sock`). */
    ASTER_OVS_DB: z.string().optional(),
    /** Where VNC, SPICE and serial consoles listen; the console proxy must reach it (set it for several hosts). */
    ASTER_CONSOLE_HOST: z.string().default('127.0.0.1'),
    ASTER_SERIAL_PORT_RANGE: z
      .string()
      .regex(/^\d+-\d+$/, 'must be a port range like 10000-20000')
      .default('10000-20000')
      .transform((s) => s.split('-').map(Number) as [number, number]),
    /** How long a guest has to shut down on ACPI before it is forced off, seconds. */
    ASTER_SHUTDOWN_TIMEOUT_SECONDS: z.coerce.number().positive('must be a positive number of seconds').default(60),
    /** The API's metadata listener, and the secret that signs instance ids for it. */
    ASTER_METADATA_URL: z.url({ error: 'must be the metadata listener URL, e.g. http://127.0.0.1:8775' }).default('http://127.0.0.1:8775'),
    ASTER_METADATA_SECRET: z.string().min(16, 'must be at least 16 characters, the secret shared with the API').optional(),
    ASTER_RESERVED_RAM_MB: count(512),
    ASTER_FAKE_VCPUS: count(16),
    ASTER_FAKE_RAM_MB: count(65536),
    ASTER_FAKE_DISK_GB: count(1000),
    ASTER_FAKE_FAIL_SPAWN: flag(false),
    ASTER_FAKE_SPAWN_DELAY_MS: count(0),
    ASTER_HEARTBEAT_SECONDS: z.coerce.number().positive('must be a positive number of seconds').default(10),
    ASTER_POWER_SYNC_SECONDS: z.coerce.number().positive('must be a positive number of seconds').default(60),
    ASTER_LOG_LEVEL: logLevel,
    /** The newest version of each job this process sends while older receivers remain: `job=v` or `job@queue=v`, comma-separated. */
    ASTER_JOB_VERSION_CAPS: versionCapsSetting,
  }),
);
