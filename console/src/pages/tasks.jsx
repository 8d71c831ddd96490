import { useEffect, useState } from 'preact/hooks';

import { api } from '../api.js';
import { age, duration, localTime } from '../format.js';
import { ErrorBox, Status } from './common.jsx';

const PAGE = 20;

/** The account's tasks, newest first: the API lists them by id, so the page is read from
 *  the end of that list (its count says where the end is). */
export function TasksPage() {
  const [skip, setSkip] = useState(0); // tasks newer than this page
  const [tasks, setTasks] = useState(null);
  const [count, setCount] = useState(0);
  const [error, setError] = useState(null);
  const [refreshed, setRefreshed] = useState(0);

  useEffect(() => {
    let live = true;
    (async () => {
      const head = await api('GET', '/tasks', { query: { limit: 1 } });
      const end = Math.max(0, head.count - skip);
      const offset = Math.max(0, end - PAGE);
      const page =
        end > 0 ? await api('GET', '/tasks', { query: { offset, limit: end - offset } }) : { results: [] };
      if (!live) return;
      setCount(head.count);
      setTasks(page.results.reverse());
      setError(null);
    })().catch((failure) => live && setError(failure));
    return () => {
      live = false;
    };
  }, [skip, refreshed]);

  // While a task shown is pending, read the page again every two seconds.
  const pending = Boolean(tasks && tasks.some((task) => task.status === 'pending'));
  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(() => setRefreshed((value) => value + 1), 2000);
    return () => clearTimeout(timer);
  }, [pending, tasks]);

  return (
    <>
      <div class="title-row">
        <h1 tabIndex={-1}>Tasks</h1>
        <button type="button" class="secondary outline" onClick={() => setRefreshed(refreshed + 1)}>
          Refresh
        </button>
      </div>
      <p>Your deployments and inferences, newest first.</p>
      <ErrorBox error={error} />
      {!tasks && !error && <p aria-busy="true">Loading…</p>}
      {tasks && tasks.length === 0 && <p>No task yet.</p>}
      {tasks && tasks.length > 0 && (
        <div class="overflow-auto">
          <table class="striped stack" data-testid="tasks">
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Took</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((task) => (
                <tr key={task.id}>
                  <td data-label="Id">{task.id}</td>
                  <td data-label="Name">{task.name}</td>
                  <td data-label="Status">
                    <Status status={task.status} />
                  </td>
                  <td data-label="Started" title={localTime(task.create_date)}>
                    {age(task.create_date)}
                  </td>
                  <td data-label="Took">
                    {task.status === 'pending' ? '' : duration(task.create_date, task.update_date)}
                  </td>
                  <td data-label="Error" class="task-error">
                    {task.error}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {count > PAGE && (
        <nav class="pager" aria-label="Task pages">
          <button
            type="button"
            class="secondary outline"
            disabled={skip === 0}
            onClick={() => setSkip(Math.max(0, skip - PAGE))}
          >
            Newer
          </button>
          <span aria-live="polite">
            {skip + 1}–{Math.min(skip + PAGE, count)} of {count}
          </span>
          <button
            type="button"
            class="secondary outline"
            disabled={skip + PAGE >= count}
            onClick={() => setSkip(skip + PAGE)}
          >
            Older
          </button>
        </nav>
      )}
    </>
  );
}
