import { z } from 'zod';
import { id, isoDate, toIso } from '../schemas.ts';

export const diskFormats = ['qcow2', 'raw', 'iso'] as const;
export type DiskFormat = (typeof diskFormats)[number];
export const visibilities = ['private', 'shared', 'public'] as const;
export type Visibility = (typeof visibilities)[number];
export const imageStatuses = ['queued', 'saving', 'active', 'killed'] as const;
export type ImageStatus = (typeof imageStatuses)[number];

export const MAX_PROPERTIES = 64;
const PROPERTY_KEY = /^[A-Za-z0-9_.:-]+$/;

export const imageName = z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters');
export const diskFormat = z.enum(diskFormats, { error: `must be one of ${diskFormats.join(', ')}` });
export const visibility = z.enum(visibilities, { error: `must be one of ${visibilities.join(', ')}` });
export const imageStatus = z.enum(imageStatuses, { error: `must be one of ${imageStatuses.join(', ')}` });
export const minRamMb = z.number().int('must be a whole number of MB').min(0, 'must not be negative').max(16777216, 'must be at most 16777216 MB');
export const minDiskGb = z.number().int('must be a whole number of GB').min(0, 'must not be negative').max(1048576, 'must be at most 1048576 GB');

/** Free-form metadata the scheduler and the driver read (hw_disk_bus, os_distro …). */
export const properties = z.record(z.string(), z.string().max(255, 'must be at most 255 characters')).superRefine((props, ctx) => {
  const keys = Object.keys(props);
  if (keys.length > MAX_PROPERTIES) ctx.addIssue({ code: 'custom', message: `at most ${MAX_PROPERTIES} properties (got ${keys.length})` });
  for (const key of keys) {
    if (key.length === 0 || key.length > 255) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'a property name must be 1 to 255 characters' });
    } else if (!PROPERTY_KEY.test(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'a property name may use only letters, digits, _ . : -' });
    }
  }
});

export const createInput = z.object({
  name: imageName,
  diskFormat,
  visibility: visibility.default('private'),
  minRamMb: minRamMb.default(0),
  minDiskGb: minDiskGb.default(0),
  properties: properties.default({}),
  protected: z.boolean().default(false),
});

export const updateInput = z.object({
  id,
  name: imageName.optional(),
  visibility: visibility.optional(),
  minRamMb: minRamMb.optional(),
  minDiskGb: minDiskGb.optional(),
  /** Replaces the whole set: send every property the image should keep. */
  properties: properties.optional(),
  protected: z.boolean().optional(),
});

export const listInput = z
  .object({
    allProjects: z.boolean().default(false),
    name: imageName.optional(),
    status: imageStatus.optional(),
    visibility: visibility.optional(),
  })
  .default({ allProjects: false });

export const image = z.object({
  id: z.string(),
  name: z.string(),
  status: imageStatus,
  visibility,
  diskFormat,
  sizeBytes: z.number().int().nullable(),
  virtualSize: z.number().int().nullable(),
  checksumSha256: z.string().nullable(),
  minRamMb: z.number().int(),
  minDiskGb: z.number().int(),
  properties: z.record(z.string(), z.string()),
  protected: z.boolean(),
  owner: z.string().nullable(),
  createdAt: isoDate,
  updatedAt: isoDate,
  fault: z.string().nullable(),
});
export type Image = z.infer<typeof image>;

export const member = z.object({ imageId: z.string(), project: z.object({ id: z.string(), name: z.string() }) });

export interface ImageRow {
  id: string;
  name: string;
  project_id: string | null;
  visibility: Visibility;
  status: ImageStatus;
  disk_format: DiskFormat;
  // bigint columns arrive as strings
  size_bytes: string | null;
  virtual_size: string | null;
  checksum_sha256: string | null;
  min_ram_mb: number;
  min_disk_gb: number;
  properties: Record<string, string>;
  protected: boolean;
  fault: string | null;
  created_at: Date;
  updated_at: Date;
}

const num = (v: string | null) => (v === null ? null : Number(v));

export const toImage = (r: ImageRow): Image => ({
  id: r.id,
  name: r.name,
  status: r.status,
  visibility: r.visibility,
  diskFormat: r.disk_format,
  sizeBytes: num(r.size_bytes),
  virtualSize: num(r.virtual_size),
  checksumSha256: r.checksum_sha256,
  minRamMb: r.min_ram_mb,
  minDiskGb: r.min_disk_gb,
  properties: r.properties,
  protected: r.protected,
  owner: r.project_id,
  createdAt: toIso(r.created_at),
  updatedAt: toIso(r.updated_at),
  fault: r.fault,
});
