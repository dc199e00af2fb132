export interface UploadProgress {
  loaded: number;
  total: number;
  /** Bytes per second since the upload began. */
  rate: number;
}

export class UploadAborted extends Error {
  constructor() {
    super('The upload was cancelled');
  }
}

/** The API's `{ error }` answer when there is one, else the status line. */
function failureOf(xhr: XMLHttpRequest): string {
  try {
    const body = JSON.parse(xhr.responseText) as { error?: unknown };
    if (typeof body.error === 'string') return body.error;
  } catch {
    // Not JSON: a proxy's page, say; the status says enough.
  }
  return `The upload failed: HTTP ${xhr.status} ${xhr.statusText}`.trim();
}

/**
 * Sends a file as an image's data through the web app's /api/images/<id>/file (which adds the session's
 * token). XMLHttpRequest rather than fetch, because only it reports upload progress.
 */
export function uploadImageFile(id: string, file: File, onProgress: (p: UploadProgress) => void): { done: Promise<void>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const startedAt = performance.now();
  const done = new Promise<void>((resolve, reject) => {
    xhr.upload.onprogress = (event) => {
      const seconds = (performance.now() - startedAt) / 1000;
      const total = event.lengthComputable ? event.total : file.size;
      onProgress({ loaded: event.loaded, total, rate: seconds > 0 ? event.loaded / seconds : 0 });
    };
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(failureOf(xhr))));
    xhr.onerror = () => reject(new Error('The upload failed: the connection to the web app was lost'));
    xhr.onabort = () => reject(new UploadAborted());
    xhr.open('PUT', `/api/images/${encodeURIComponent(id)}/file`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}
