# Negative suite: a loop with no bound but may_goto's budget (clang 14
# cannot write may_goto): the kernel accepts it, the budget ends it.
# type: socket_filter
# expect may_goto_loop: accept
mov %r0, 0
loop:
may_goto done
add %r0, 1
ja loop
done:
exit
