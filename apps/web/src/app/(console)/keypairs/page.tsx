import type { Metadata } from 'next';
import { KeypairsView } from '@/components/resources/keypairs/keypairs-view';
import ui from '@/components/ui/ui.module.css';

export const metadata: Metadata = { title: 'Key pairs · Aster' };

export default function KeypairsPage() {
  return (
    <main className={ui.content}>
      <h1>Key pairs</h1>
      <KeypairsView />
    </main>
  );
}
