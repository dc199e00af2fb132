import type { Metadata } from 'next';
import { QuotasView } from '@/components/resources/quotas/quotas-view';
import ui from '@/components/ui/ui.module.css';

export const metadata: Metadata = { title: 'Quotas · Aster' };

export default function QuotasPage() {
  return (
    <main className={ui.content}>
      <h1>Quotas</h1>
      <QuotasView />
    </main>
  );
}
