import type { Metadata } from 'next';
import { QuotasView } from '@/components/resources/quotas/quotas-view';

export const metadata: Metadata = { title: 'Quotas · Aster' };

export default function QuotasPage() {
  return (
    <main className="content">
      <h1>Quotas</h1>
      <QuotasView />
    </main>
  );
}
