import type { Metadata } from 'next';
import { ImagesView } from '@/components/resources/images/images-view';
import ui from '@/components/ui/ui.module.css';

export const metadata: Metadata = { title: 'Images · Aster' };

export default function ImagesPage() {
  return (
    <main className={ui.content}>
      <h1>Images</h1>
      <ImagesView />
    </main>
  );
}
