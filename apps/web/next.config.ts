import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // Workspace packages ship TypeScript source; Next compiles them with the app.
  transpilePackages: ['@aster/client', '@aster/compute', '@aster/env', '@aster/log'],
  poweredByHeader: false,
  // `next dev` on 127.0.0.1 serves its own scripts there too (it refuses unknown origins by default).
  allowedDevOrigins: ['127.0.0.1', 'localhost'],
};

export default nextConfig;
