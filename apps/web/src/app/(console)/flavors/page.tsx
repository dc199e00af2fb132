import type { Metadata } from 'next';
import { FlavorsView } from '@/components/resources/flavors/flavors-view';
import ui from '@/components/ui/ui.module.css';

export const metadata: Metadata = { title: 'Flavors · Aster' };

export default function FlavorsPage() {
  return (
    <main className={ui.content}>
      <h1>Flavors</h1>
      <FlavorsView />
    </main>
  );
}
