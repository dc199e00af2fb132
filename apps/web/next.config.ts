import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // Workspace packages ship TypeScript source; Next compiles them with the app.
  transpilePackages: ['@aster/client', '@aster/env', '@aster/log'],
  poweredByHeader: false,
};

export default nextConfig;
