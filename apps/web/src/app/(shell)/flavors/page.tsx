import type { Metadata } from 'next';
import { FlavorsView } from '@/components/resources/flavors/flavors-view';

export const metadata: Metadata = { title: 'Flavors · Aster' };

export default function FlavorsPage() {
  return (
    <main className="content">
      <h1>Flavors</h1>
      <FlavorsView />
    </main>
  );
}
