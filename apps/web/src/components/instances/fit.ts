import { formatBytes, formatGiB, formatMiB } from '../../lib/format';
import type { Flavor } from './types';

/** What the API checks of an image against a flavor (its minimums, and the size of its disk). */
export interface ImageNeeds {
  name: string;
  minRamMb: number;
  minDiskGb: number;
  virtualSize: number | null;
}

/**
 * Why a server of `flavor` cannot boot `image`, as the API would refuse it; null when it fits. A flavor with
 * no disk (0) takes the image's own size, so only its memory is checked.
 */
export function whyTooSmall(image: ImageNeeds, flavor: Pick<Flavor, 'name' | 'ramMb' | 'diskGb'>): string | null {
  if (flavor.ramMb < image.minRamMb) {
    return `Image ${image.name} needs at least ${formatMiB(image.minRamMb)} of RAM; flavor ${flavor.name} has ${formatMiB(flavor.ramMb)}`;
  }
  if (flavor.diskGb > 0 && flavor.diskGb < image.minDiskGb) {
    return `Image ${image.name} needs a disk of at least ${formatGiB(image.minDiskGb)}; flavor ${flavor.name} has ${formatGiB(flavor.diskGb)}`;
  }
  if (flavor.diskGb > 0 && image.virtualSize !== null && image.virtualSize > flavor.diskGb * 1024 ** 3) {
    return `Image ${image.name} is ${formatBytes(image.virtualSize)}; it does not fit flavor ${flavor.name}'s ${formatGiB(flavor.diskGb)} disk`;
  }
  return null;
}
