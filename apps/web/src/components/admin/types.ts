import type { AsterClient } from '@aster/client';

type Api = AsterClient;

export type Hypervisor = Awaited<ReturnType<Api['hypervisors']['list']['query']>>[number];
export type Service = Awaited<ReturnType<Api['services']['list']['query']>>[number];
export type Project = Awaited<ReturnType<Api['projects']['list']['query']>>[number];
export type User = Awaited<ReturnType<Api['users']['list']['query']>>[number];
export type Assignment = Awaited<ReturnType<Api['roleAssignments']['list']['query']>>[number];
export type Server = Awaited<ReturnType<Api['servers']['list']['query']>>['servers'][number];
export type Credential = Awaited<ReturnType<Api['credentials']['list']['query']>>[number];

export const ROLES = ['admin', 'member', 'reader'] as const;
export type Role = (typeof ROLES)[number];

export const READER_ONLY = 'Your role reader can only look';
export type Aggregate = Awaited<ReturnType<Api['aggregates']['list']['query']>>[number];
