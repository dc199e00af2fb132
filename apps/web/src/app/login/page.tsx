import type { Metadata } from 'next';
import { safeNextPath } from '@/lib/next-path';
import { LoginForm } from './login-form';
import styles from './login.module.css';

export const metadata: Metadata = { title: 'Sign in' };

type Props = { searchParams: Promise<Record<string, string | string[] | undefined>> };

export default async function LoginPage({ searchParams }: Props) {
  const { next } = await searchParams;
  return (
    <main className={styles.login}>
      <p className={styles.brand}>Aster</p>
      <h1>Sign in</h1>
      <LoginForm next={safeNextPath(next)} />
    </main>
  );
}
