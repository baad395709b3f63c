// "Delete" on my own posts and comments (issue 27), with a confirm step in place: the
// button turns into "Delete this post? [Delete] [Cancel]" (no window.confirm: it blocks the
// page and cannot be styled). The views call addPostDelete / addCommentDelete with the
// element they built; everything else about deletion lives here.

import { api, ApiError, type Comment, type Post } from './api';
import type { Ctx } from './ctx';
import { h, replace } from './dom';

/** Fired on a comment's element (bubbles) once its deletion succeeded: counts go down. */
export const COMMENT_DELETED = 'bsocial:comment-deleted';

function deleteControl(what: 'post' | 'comment', ctx: Ctx, run: () => Promise<void>, done: () => void): HTMLElement {
  const box = h('span', { class: 'delete-control' });
  const ask = () => {
    const yes = h('button', { type: 'button', class: 'btn btn-link btn-danger delete-confirm' }, 'Delete');
    const no = h('button', { type: 'button', class: 'btn btn-link delete-cancel' }, 'Cancel');
    const question = h('span', { class: 'muted small', role: 'alert' }, `Delete this ${what}? `);
    no.addEventListener('click', idle);
    yes.addEventListener('click', async () => {
      yes.disabled = no.disabled = true;
      try {
        await run();
        done();
      } catch (e) {
        // Gone already (deleted in another tab): the same outcome as a success.
        if (e instanceof ApiError && e.status === 404) {
          done();
          return;
        }
        ctx.error(e);
        idle();
      }
    });
    replace(box, question, yes, no);
    no.focus();
  };
  function idle(): void {
    const btn = h('button', { type: 'button', class: 'btn btn-link delete-action', aria: { label: `Delete this ${what}` } }, 'Delete');
    btn.addEventListener('click', ask);
    replace(box, btn);
  }
  idle();
  return box;
}

/** My post: a Delete action in its card's action bar; once deleted the card says so. */
export function addPostDelete(card: HTMLElement, post: Post, ctx: Ctx): void {
  if (post.author.id !== ctx.me.id) return;
  const control = deleteControl('post', ctx, () => api.deletePost(post.id), () => {
    replace(card, h('p', { class: 'muted small deleted-note' }, 'Post deleted.'));
    card.classList.add('deleted');
    ctx.toast('Post deleted.', 'success');
  });
  card.querySelector('.post-actions')?.append(control);
}

/** My comment: a Delete action under it; once deleted it goes and COMMENT_DELETED fires. */
export function addCommentDelete(item: HTMLElement, comment: Comment, ctx: Ctx): void {
  if (comment.author.id !== ctx.me.id) return;
  const control = deleteControl('comment', ctx, () => api.deleteComment(comment.id), () => {
    item.dispatchEvent(new CustomEvent(COMMENT_DELETED, { bubbles: true }));
    item.remove();
  });
  item.append(h('div', { class: 'comment-actions' }, control));
}
