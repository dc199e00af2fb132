/** Whether the Members section applies: a shared image, managed by its owner (or a cloud administrator). */
export function showsMembers(image: { visibility: string; owner: string | null }, viewer: { projectId: string; isAdmin: boolean }): boolean {
  return image.visibility === 'shared' && (viewer.isAdmin || image.owner === viewer.projectId);
}
