import type { Metadata } from 'next';
import { InstancesView } from '@/components/instances/instances-view';

export const metadata: Metadata = { title: 'Instances · Aster' };

export default function ServersPage() {
  return <InstancesView />;
}
