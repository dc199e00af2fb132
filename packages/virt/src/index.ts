export * from './driver.ts';
export { FakeDriver, type FakeDriverOptions } from './fake.ts';
