import type { Metadata } from 'next';
import { ImagesView } from '@/components/resources/images/images-view';

export const metadata: Metadata = { title: 'Images · Aster' };

export default function ImagesPage() {
  return (
    <main className="content">
      <h1>Images</h1>
      <ImagesView />
    </main>
  );
}
