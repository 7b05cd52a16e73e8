/**
 * One invocation's hold on its connection's invocation slots (maximumParallelInvocationsPerClient).
 * A hub method that awaits a client result gives its slot back early, as ASP.NET Core does, so the
 * same client's other invocations (the one that produces the answer, say) are not stuck behind it.
 */
export interface InvocationSlot {
  released: boolean;
}
