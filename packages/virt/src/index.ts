export * from './driver.ts';
export { FakeDriver, type FakeAction, type FakeDriverOptions } from './fake.ts';
