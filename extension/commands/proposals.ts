/** growthLab.acceptProposal / rejectProposal: decide the pending grow proposal (growthLab.review = ask). */
import type { Ctx } from '../ctx';

export const acceptProposal =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<void> =>
    ctx.proposals.command('commit', arg);
export const rejectProposal =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<void> =>
    ctx.proposals.command('reject', arg);
