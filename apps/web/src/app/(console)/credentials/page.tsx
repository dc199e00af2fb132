import type { Metadata } from 'next';
import ui from '@/components/ui/ui.module.css';
import { Credentials } from './credentials';

export const metadata: Metadata = { title: 'Application credentials' };

export default function CredentialsPage() {
  return (
    <main className={ui.content}>
      <h1>Application credentials</h1>
      <p className={ui.muted}>
        For scripts: a credential signs in as you, on your current project, with one role at most as high as yours. Revoking
        it signs out every token it issued.
      </p>
      <Credentials />
    </main>
  );
}
