'use client';

import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import ui from '@/components/ui/ui.module.css';
import styles from './admin.module.css';
import { formatDate } from '@/lib/format';
import { RoleAssignments } from './role-assignments';
import { SetPasswordForm } from './set-password-form';
import type { Project, User } from './types';

const COLUMNS = 5;

/** A user's row, and below it (when opened) their roles and password. */
export function UserRow({ user, self, projects, onChanged }: { user: User; self: boolean; projects: Project[]; onChanged: () => unknown }) {
  const trpc = useTRPC();
  const toast = useToast();
  const [open, setOpen] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const detailsId = `user-details-${user.id}`;
  const update = useMutation(
    trpc.users.update.mutationOptions({
      onSuccess: (u) => toast.show('success', `${u.enabled ? 'Enabled' : 'Disabled'} user ${u.name}`),
      onError: (e) => toast.show('error', `Could not change user ${user.name}: ${describeApiError(e)}`),
      onSettled: onChanged,
    }),
  );
  const remove = useMutation(
    trpc.users.delete.mutationOptions({
      onSuccess: () => {
        toast.show('success', `Deleted user ${user.name}`);
        setDeleting(false);
      },
      onError: (e) => toast.show('error', `Could not delete user ${user.name}: ${describeApiError(e)}`),
      onSettled: onChanged,
    }),
  );
  const roles = user.roles.map((r) => `${r.role} on ${r.projectName}`).join(', ');

  return (
    <>
      <tr>
        <td>{user.name}</td>
        <td>
          <span className={user.enabled ? styles.badgeGood : styles.badgeBad}>{user.enabled ? 'enabled' : 'disabled'}</span>
        </td>
        <td>{roles || <span className={ui.muted}>no roles</span>}</td>
        <td>{formatDate(user.createdAt)}</td>
        <td>
          <div className={ui.actions}>
            <button
              type="button"
              className={ui.secondary}
              aria-expanded={open}
              aria-controls={detailsId}
              aria-label={`Roles and password of ${user.name}`}
              onClick={() => setOpen(!open)}
            >
              {open ? 'Hide details' : 'Details'}
            </button>
            <button
              type="button"
              className={ui.secondary}
              aria-label={`${user.enabled ? 'Disable' : 'Enable'} user ${user.name}`}
              disabled={update.isPending || (self && user.enabled)}
              title={self && user.enabled ? 'You cannot disable your own user' : undefined}
              onClick={() => update.mutate({ id: user.id, enabled: !user.enabled })}
            >
              {user.enabled ? 'Disable' : 'Enable'}
            </button>
            <button
              type="button"
              className={ui.secondary}
              aria-label={`Delete user ${user.name}`}
              disabled={self}
              title={self ? 'You cannot delete your own user' : undefined}
              onClick={() => setDeleting(true)}
            >
              Delete
            </button>
          </div>
          <ConfirmDialog
            open={deleting}
            title={`Delete user ${user.name}`}
            confirmLabel="Delete user"
            pending={remove.isPending}
            onConfirm={() => remove.mutate({ id: user.id })}
            onClose={() => setDeleting(false)}
          >
            <p>Their roles, sessions and application credentials go with them. Their instances stay in their projects.</p>
          </ConfirmDialog>
        </td>
      </tr>
      {open ? (
        <tr id={detailsId} className={ui.details}>
          <td colSpan={COLUMNS}>
            <RoleAssignments user={user} projects={projects} />
            <SetPasswordForm user={user} self={self} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
