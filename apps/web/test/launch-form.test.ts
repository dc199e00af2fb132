import { describe, expect, it } from 'vitest';
import { whyTooSmall } from '../src/components/instances/fit.ts';
import type { Flavor, Limits } from '../src/components/instances/types.ts';
import { choiceProblems, validate, type LaunchContext, type LaunchDraft } from '../src/components/instances/validate.ts';

const flavor = (name: string, vcpus: number, ramMb: number, diskGb: number) => ({ id: name, name, vcpus, ramMb, diskGb }) as Flavor;
const tiny = flavor('m1.tiny', 1, 512, 1);
const small = flavor('m1.small', 1, 2048, 20);
const limits = (instances: number, cores = -1, ramMb = -1) =>
  ({ remaining: { instances, cores, ramMb, keypairs: -1, serverGroups: -1 } }) as unknown as Limits;
const snapshot = { name: 'web-1 backup', minRamMb: 0, minDiskGb: 20, virtualSize: 20 * 1024 ** 3 };
const draft = (change: Partial<LaunchDraft> = {}): LaunchDraft => ({
  name: 'web',
  imageId: 'img',
  flavorId: 'm1.tiny',
  networkId: '',
  moreNetworkIds: [],
  securityGroupIds: null,
  keyName: '',
  userData: '',
  count: '1',
  serverGroupId: '',
  availabilityZone: '',
  ...change,
});
const ctx = (change: Partial<LaunchContext> = {}): LaunchContext => ({ image: undefined, flavor: tiny, limits: limits(9), ...change });

describe('a flavor for an image', () => {
  it('is refused when smaller than the image needs, as the API would refuse it', () => {
    expect(whyTooSmall(snapshot, tiny)).toBe('Image web-1 backup needs a disk of at least 20 GiB; flavor m1.tiny has 1 GiB');
    expect(whyTooSmall(snapshot, small)).toBeNull();
    expect(whyTooSmall({ ...snapshot, minRamMb: 4096 }, small)).toBe('Image web-1 backup needs at least 4 GiB of RAM; flavor m1.small has 2 GiB');
    expect(whyTooSmall({ ...snapshot, minDiskGb: 0 }, tiny)).toBe("Image web-1 backup is 20.0 GiB; it does not fit flavor m1.tiny's 1 GiB disk");
    // A flavor without a disk takes the image's size.
    expect(whyTooSmall(snapshot, flavor('m1.nodisk', 1, 512, 0))).toBeNull();
  });
});

describe('the Launch form', () => {
  it('says one thing of a count out of range, and nothing of the quota until it is a valid count', () => {
    const problems = validate(draft({ count: '1000' }), ctx());
    expect(problems.count).toBe('Count must be a whole number from 1 to 10');
    expect(problems.flavorId).toBeUndefined();
    expect(Object.values(problems).join(' ')).not.toContain('needed');
  });

  it('puts a count past the instances quota on the count, and cores or RAM past the quota on the flavor', () => {
    expect(validate(draft({ count: '10' }), ctx())).toEqual({ count: 'Exceeds your quota: 10 instances needed, 9 left' });
    expect(choiceProblems(draft({ count: '3' }), ctx({ limits: limits(9, 2, 1024) }))).toEqual({
      flavorId: 'Exceeds your quota: 3 vCPUs needed, 2 left; 1536 MiB of RAM needed, 1 GiB left',
    });
  });

  it('clears a quota problem as soon as the count is corrected', () => {
    expect(validate(draft({ count: '10' }), ctx()).count).toBeDefined();
    expect(validate(draft({ count: '9' }), ctx())).toEqual({});
  });

  it('refuses a flavor too small for the chosen image before Launch is pressed', () => {
    expect(choiceProblems(draft(), ctx({ image: snapshot }))).toEqual({ flavorId: 'Image web-1 backup needs a disk of at least 20 GiB; flavor m1.tiny has 1 GiB' });
    expect(choiceProblems(draft({ flavorId: 'm1.small' }), ctx({ image: snapshot, flavor: small }))).toEqual({});
  });

  it('asks for what is missing', () => {
    expect(validate(draft({ name: ' ', imageId: '', flavorId: '' }), ctx({ flavor: undefined }))).toEqual({
      name: 'Name is required',
      imageId: 'Choose an image',
      flavorId: 'Choose a flavor',
    });
  });
});
